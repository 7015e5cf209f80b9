"""What one asset does, as plain code: the steps that combine the model, registry and
monitoring layers (a training run, a promotion), called by the thin asset functions in
``defs/assets``. No Dagster imports: the asset hands in resources' values and callables."""
