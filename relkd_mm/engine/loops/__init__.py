from .teacher_cached_val_loop import TeacherCachedDistillValLoop  # noqa: F401
