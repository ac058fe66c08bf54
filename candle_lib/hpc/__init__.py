"""Running trials on HPC nodes: one GPU per trial process, and the prepared data staged locally.

- :mod:`.gpu_slots`: the GPU a trial process binds itself to (a launcher's binding, or a free
  slot held by a lock file), before TensorFlow starts;
- :mod:`.staging`: a prepared dataset copied once per node to fast local storage;
- :mod:`.placement`: both, called once at the start of every training process.

No TensorFlow here.
"""

from candle_lib.hpc.gpu_slots import (
    Binding,
    GpuInventory,
    acquire_slot,
    bind_gpu,
    detect_gpus,
    physical_device,
    release_gpu,
)
from candle_lib.hpc.placement import place_trial
from candle_lib.hpc.staging import stage_prepared

__all__ = [
    "place_trial",
    "bind_gpu",
    "release_gpu",
    "acquire_slot",
    "detect_gpus",
    "physical_device",
    "GpuInventory",
    "Binding",
    "stage_prepared",
]
