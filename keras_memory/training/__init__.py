"""Training utilities: a task model builder, evaluation, callbacks, data and optimizers.

These are the pieces `examples/train.py` and the quickstart are made of, so
that a user's own script can train any cell on any task in a few lines:

```python
task = keras_memory.tasks.get("copy")
model = keras_memory.training.build_model(NTMCell(units=100), task)
model.compile(optimizer=keras_memory.training.default_optimizer(),
              jit_compile=True, **task.compile_kwargs())
model.fit(task.dataset(batch_size=32, num_batches=1000), epochs=5)
print(keras_memory.training.evaluate_task(model, task, split="generalization"))
```

Its parts, one job each: `training.models` (the model, its optimizer, its
evaluation), `training.callbacks`, `training.data` (the batches `fit`
draws), `training.runs` (run directories: lock, checkpoints, resuming) and
`training.optimizers` (clipping and the Lie-access schedule). Every public
name is importable from `keras_memory.training` itself.
"""

from keras_memory.initializers import torch_uniform_init
from keras_memory.training.callbacks import (
    BestOfValidation,
    DoublingCurriculum,
    RestoreRandomState,
    RunCheckpoint,
    StopAtThreshold,
    TaskEvaluation,
    TimeLimit,
    learning_summary,
)
from keras_memory.training.data import (
    CURRICULUM_LEVELS,
    CurriculumStream,
    CyclingBatches,
    TrainingStream,
)
from keras_memory.training.models import (
    MEMORY_LAYER_NAME,
    READOUT_LAYER_NAME,
    build_model,
    default_optimizer,
    dtype_policy,
    evaluate_task,
)
from keras_memory.training.optimizers import (
    ClippedAdam,
    ClippedRMSprop,
    LieAccessDecay,
    clip_by_global_norm,
    lie_access_optimizer,
)
from keras_memory.training.runs import (
    CorruptFileError,
    DirectoryInUseError,
    DirectoryLock,
    check_keras_file,
    environment,
    load_checkpoint,
    restore_random_state,
    resume_state,
)

__all__ = [
    "BestOfValidation",
    "CURRICULUM_LEVELS",
    "ClippedAdam",
    "ClippedRMSprop",
    "CorruptFileError",
    "CurriculumStream",
    "CyclingBatches",
    "DirectoryInUseError",
    "DirectoryLock",
    "DoublingCurriculum",
    "LieAccessDecay",
    "MEMORY_LAYER_NAME",
    "READOUT_LAYER_NAME",
    "RestoreRandomState",
    "RunCheckpoint",
    "StopAtThreshold",
    "TaskEvaluation",
    "TimeLimit",
    "TrainingStream",
    "build_model",
    "check_keras_file",
    "clip_by_global_norm",
    "default_optimizer",
    "dtype_policy",
    "environment",
    "evaluate_task",
    "learning_summary",
    "lie_access_optimizer",
    "load_checkpoint",
    "restore_random_state",
    "resume_state",
    "torch_uniform_init",
]
