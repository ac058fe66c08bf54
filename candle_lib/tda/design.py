"""The trials of training-data analysis, as content-addressed trial specs (:mod:`candle_lib.trial.roles`).

Every training is the ensemble member's role :data:`~candle_lib.trial.spec.MEMBER` (train on split
train, monitor val, predict val and test) plus only the keys that change the training, so that a
training two analyses (or the UQ ensemble) ask for has one id and runs once:

- learning curve, fraction f < 1, draw r: MEMBER + ``subsample: subsample_f<f>_r<r>``;
  fraction 1 is plain MEMBER (one trial, whatever the number of draws);
- noise: MEMBER + ``label_noise`` or ``feature_noise`` + ``noise_seed``; level 0 is plain MEMBER;
- group matrix: one model per group g, trained on g's training rows and monitored on g's
  validation rows (kind ``group``, saved: it is also the source of transfers), one per
  leave-one-group-out fold (kind ``logo``: every group but g), and plain MEMBER (all groups);
  each predicts the whole test split, scored group by group afterwards;
- transfer A -> B at fraction f, draw r: the group model of A fine-tuned (``init``) on f of B's
  training rows (kind ``transfer``), against B's group role on the same rows from scratch;
  at f = 1 the scratch trial is B's group-matrix model;
- representation: a P1B1 autoencoder (MEMBER + ``save_model``), compared with PCA afterwards.

Each ``*_points`` function returns (points, specs): points are dicts naming what a trial is in
its analysis plus its ``trial`` id; specs are {trial id: spec} for the trial registry.
"""

from __future__ import annotations

from candle_lib.params.specs import resolve_params
from candle_lib.trial.spec import MEMBER, trial_id, trial_spec

GROUP_COLUMN = "logo_group"
ALL_GROUPS = "all"


def subsample_column(fraction: float, repeat: int) -> str:
    """The split table's column of draw ``repeat`` of ``fraction`` (see splits.fractional_subsamples)."""
    return f"subsample_f{float(fraction):g}_r{int(repeat)}"


def logo_name(group: str) -> str:
    return f"all but {group}"


class _Trials:
    """Collects {trial id: spec} for one base configuration and prepared dataset."""

    def __init__(self, params: dict, prep: str):
        self.params, self.prep, self.specs = params, prep, {}

    def add(self, role: dict, params: dict | None = None) -> str:
        spec = trial_spec(params or self.params, role=role, data=self.prep)
        tid = trial_id(spec)
        self.specs[tid] = spec
        return tid


def group_role(train_groups, *, kind: str = "group", save_model: bool = True) -> dict:
    """Train on the listed groups' training rows, monitor their validation rows, predict the
    whole test split (every group)."""
    groups = [str(g) for g in train_groups]
    role = {**MEMBER, "kind": kind, "group_column": GROUP_COLUMN, "train_groups": groups, "eval_groups": groups}
    return {**role, "save_model": True} if save_model else role


def learning_curve_points(params: dict, prep: str, fractions, repeats: int):
    trials, points = _Trials(params, prep), []
    for fraction in sorted({float(f) for f in fractions}):
        if fraction == 1.0:
            points.append({"fraction": 1.0, "repeat": 0, "trial": trials.add(dict(MEMBER))})
            continue
        for r in range(int(repeats)):
            role = {**MEMBER, "subsample": subsample_column(fraction, r)}
            points.append({"fraction": fraction, "repeat": r, "trial": trials.add(role)})
    return points, trials.specs


def noise_points(params: dict, prep: str, label_levels, feature_levels, seeds: int):
    trials, points = _Trials(params, prep), []
    for noise, levels in (("label", label_levels), ("feature", feature_levels)):
        for level in sorted({float(x) for x in levels}):
            if level == 0.0:
                points.append({"noise": noise, "level": 0.0, "seed": 0, "trial": trials.add(dict(MEMBER))})
                continue
            for seed in range(int(seeds)):
                role = {**MEMBER, f"{noise}_noise": level, "noise_seed": seed}
                points.append({"noise": noise, "level": level, "seed": seed, "trial": trials.add(role)})
    return points, trials.specs


def group_matrix_points(params: dict, prep: str, groups):
    """One model per group, one per leave-one-group-out fold (with 3 or more groups; with 2 it
    is the other group's model), and the model of all groups."""
    trials, points = _Trials(params, prep), []
    groups = [str(g) for g in groups]
    for g in groups:
        points.append({"train": g, "trial": trials.add(group_role([g]))})
    if len(groups) > 2:
        for g in groups:
            others = [h for h in groups if h != g]
            points.append(
                {"train": logo_name(g), "trial": trials.add(group_role(others, kind="logo", save_model=False))}
            )
    points.append({"train": ALL_GROUPS, "trial": trials.add(dict(MEMBER))})
    return points, trials.specs


def transfer_points(params: dict, prep: str, pairs, fractions, repeats: int):
    """Per (source, target) pair: the source model alone (fraction 0), and at each fraction and
    draw the fine-tuned and the from-scratch trial on the same target rows."""
    trials, points = _Trials(params, prep), []
    for source, target in pairs:
        source_id = trials.add(group_role([source]))
        pair = {"source": str(source), "target": str(target)}
        points.append({**pair, "fraction": 0.0, "repeat": 0, "start": "source only", "trial": source_id})
        for fraction in sorted({float(f) for f in fractions}):
            for r in range(1 if fraction == 1.0 else int(repeats)):
                subsample = {} if fraction == 1.0 else {"subsample": subsample_column(fraction, r)}
                scratch = {**group_role([target]), **subsample}
                tuned = {**group_role([target], kind="transfer", save_model=False), **subsample, "init": source_id}
                where = {**pair, "fraction": fraction, "repeat": r}
                points.append({**where, "start": "fine-tuned", "trial": trials.add(tuned)})
                points.append({**where, "start": "scratch", "trial": trials.add(scratch)})
    return points, trials.specs


# the settings of a model run out of process: not the P1B1 autoencoder's (it would refuse them)
OUT_OF_PROCESS_KEYS = ("command", "benchmark", "benchmark_params", "interpreter", "environment")


def representation_points(model_config: dict, prep: str, overrides: dict, tda_params: dict, *, specs=None):
    """The P1B1 autoencoder: the model section, the tda params, then model: p1b1 and the
    representation's own overrides (latent_dim is also the PCA's number of components). The
    settings of an out-of-process model in the model section are left out."""
    base = {key: value for key, value in model_config.items() if key not in OUT_OF_PROCESS_KEYS}
    params = resolve_params(
        base, tda_params, {"model": "p1b1"}, overrides, where="tda.representation.params", specs=specs
    )
    trials = _Trials(params, prep)
    tid = trials.add({**MEMBER, "save_model": True})
    return [{"model": "p1b1", "latent_dim": params["latent_dim"], "trial": tid}], trials.specs
