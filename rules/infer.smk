# Production inference: the final model and its preprocessing applied to new samples.
