"""Software-defined assets, one module per stage; the module name is the group name."""
