"""The trials a ``uq`` config asks for. Every member is a MEMBER trial (train on train, monitor
val, predict val and test; candle_lib.trial.roles), so a member another workflow also asks for has
the same content-addressed id and runs once. Members are drawn by

- ``seed``: rng_seed = model.rng_seed + m (weights, shuffling, dropout), m = 0 .. members-1;
- ``bootstrap``: the resample column ``bootstrap_<m>`` of the split table (data.splits.bootstrap);
- ``subsample``: the column ``subsample_f<fraction>_r<m>`` (data.splits.subsample_fractions
  and subsample_repeats).

MC dropout (uq.mc_dropout.passes > 0) samples one more trial: the MEMBER role with
``save_model``, at the base hyperparameters.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from candle_lib.errors import CandleInputError
from candle_lib.params.declared import config_specs
from candle_lib.params.specs import COMMAND_MODELS, model_form, resolve_params, task_kind
from candle_lib.trial.spec import MEMBER, trial_id, trial_spec

ENSEMBLES = ("seed", "bootstrap", "subsample")


@dataclass
class UQPlan:
    trials: dict = field(default_factory=dict)  # trial id -> spec (members and the MC-dropout model)
    members: list = field(default_factory=list)  # one dict per member: member, trial_id, ensemble, rng_seed, column
    mc_trial: str | None = None  # the saved model MC dropout samples
    task: str = "classification"  # or regression
    params: dict = field(default_factory=dict)  # the members' base hyperparameters


def _fraction_column(fraction: float, repeat: int) -> str:
    return f"subsample_f{fraction:g}_r{repeat}"


def _member_role(uq: dict, splits: dict, m: int) -> tuple[dict, str | None]:
    kind, n = uq["ensemble"], uq["members"]
    if kind == "bootstrap":
        if splits.get("bootstrap", 0) < n:
            raise CandleInputError(
                f"a bootstrap ensemble of {n} members needs data.splits.bootstrap >= {n}", where="uq.members"
            )
        column = f"bootstrap_{m}"
        return {**MEMBER, "bootstrap": column}, column
    if kind == "subsample":
        fraction = uq.get("fraction")
        if fraction is None or fraction not in splits.get("subsample_fractions", []):
            raise CandleInputError(
                f"a subsample ensemble needs uq.fraction, one of data.splits.subsample_fractions ({splits.get('subsample_fractions', [])})",
                where="uq.fraction",
            )
        if splits.get("subsample_repeats", 1) < n:
            raise CandleInputError(
                f"a subsample ensemble of {n} members needs data.splits.subsample_repeats >= {n}", where="uq.members"
            )
        column = _fraction_column(fraction, m)
        return {**MEMBER, "subsample": column}, column
    return dict(MEMBER), None


def _task(params: dict) -> str:
    if params["model"] == "p1b1":
        raise CandleInputError(
            "uncertainty quantification needs a classifier or a dense regressor, not the p1b1 autoencoder",
            where="model.model",
        )
    return task_kind(params)


def _check_mc_dropout(uq: dict, params: dict, drug_response: bool) -> None:
    if uq["mc_dropout"]["passes"] == 0:
        return
    if drug_response:
        raise CandleInputError(
            "MC dropout samples expression datasets only (drug responses join several feature tables); set passes: 0",
            where="uq.mc_dropout.passes",
        )
    form = model_form(params["model"])
    if form in COMMAND_MODELS:
        raise CandleInputError(
            f"MC dropout samples a saved Keras model; model {params['model']} runs out of process: set passes: 0",
            where="uq.mc_dropout.passes",
        )
    if form == "builtin" and params["dropout"] == 0 and params["input_dropout"] == 0:
        raise CandleInputError(
            "MC dropout needs dropout > 0 in the members' model (model.dropout or uq.model.dropout)",
            where="uq.mc_dropout.passes",
        )


def uq_plan(config: dict, prep: str, *, drug_response: bool = False) -> UQPlan:
    """The member trials (and the MC-dropout model) of ``config['uq']`` on prepared data ``prep``."""
    uq = config["uq"]
    base = resolve_params(config["model"], uq.get("model", {}), where="uq.model", specs=config_specs(config))
    plan = UQPlan(task=_task(base), params=base)
    if plan.task == "regression" and base["regression_head"] == "mean" and uq["members"] < 2:
        raise CandleInputError(
            "one member with a mean head has no predictive variance: use members >= 2 or a gaussian/quantile regression_head",
            where="uq.members",
        )
    _check_mc_dropout(uq, base, drug_response)
    if drug_response and uq["ensemble"] != "seed":
        raise CandleInputError(
            "prepared drug responses have no bootstrap or subsample columns yet: use ensemble: seed",
            where="uq.ensemble",
        )
    for m in range(uq["members"]):
        role, column = _member_role(uq, config["data"]["splits"], m)
        seed = base["rng_seed"] + m if uq["ensemble"] == "seed" else base["rng_seed"]
        spec = trial_spec({**base, "rng_seed": seed}, role=role, data=prep)
        tid = trial_id(spec)
        plan.trials[tid] = spec
        plan.members.append(
            {"member": m, "trial_id": tid, "ensemble": uq["ensemble"], "rng_seed": seed, "column": column}
        )
    if uq["mc_dropout"]["passes"] > 0:
        spec = trial_spec(base, role={**MEMBER, "save_model": True}, data=prep)
        plan.mc_trial = trial_id(spec)
        plan.trials[plan.mc_trial] = spec
    return plan
