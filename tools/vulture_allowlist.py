"""Names vulture reports as unused in churn_assets that are used, each reviewed (`make lint`).

Add a name here only when something vulture cannot see uses it (a framework, a protocol, a
public interface); dead code is removed instead.
"""

# Python: the package's lazy ``defs`` (PEP 562 module hooks).
__getattr__
__dir__

# pydantic: settings and validators are read by the model machinery.
model_config  # config_section.Section: pydantic model settings
_leaves_room_for_training  # @model_validator / @field_validator methods, called by pydantic
_known_families
_families_named
_known_metric
_known_floors
_reasons_given
_known_policy
_known_threshold_source
_arithmetic_only
_complete
_complete_for_its_kind
_sql_source_complete
_engineered_names_unique
_policy_has_economics
_profit_metric_has_economics
# Fields of the YAML schema, read by name (getattr) or by the caller's config object.
max_model_mb  # promotion load budget: LoadBudget fields and their YAML keys
max_p95_latency_ms_per_1000
max_peak_memory_mb
wasserstein_threshold  # drift thresholds, looked up by name in monitoring.drift
stattest_p_value
jensen_shannon_threshold

# Dagster: assets, checks and resource/IO-manager hooks are called by the framework.
customer_expectations  # @dg.multi_asset_check, collected by the definitions
teardown_after_execution  # ConfigurableResource hook
setup_for_execution  # ConfigurableResource hook
get_object_to_set_on_execution_context  # ConfigurableResource hook (resources/s3.py)
extension  # dg.UPathIOManager's file suffix
dump_to_path  # dg.UPathIOManager interface
load_from_path
create_io_manager  # dg.ConfigurableIOManagerFactory interface

# MLflow / GX / Optuna interfaces.
load_context  # mlflow.pyfunc.PythonModel hook
progress_bars  # GX context variable, set to silence progress bars
gc_after_trial  # DaskStudy.optimize keeps optuna.Study.optimize's signature
show_progress_bar

# Record fields written out whole (dataclasses.asdict / metadata) and read by tests and people.
reference_size  # drift.FeatureDrift
current_size

# Public functions the development package (churn_dev), the benchmarks and the tests call.
generate_customers  # generator: the one-frame form of generate_chunks
excludes_zero  # intervals.Interval
top_reasons  # reason_codes: the one-frame form of reason_texts (the served model uses that)
by_raw_column  # reason_codes: the one-frame form of _summed

# The scoring service (churn_assets/serving): FastAPI routes and middleware are called by the
# framework, request validators by pydantic, the app factory by gunicorn (by name).
media_type  # app.Json: Starlette's Response reads the class attribute
customer
health
_rows_match_columns
_exactly_one
app_from_environment
# Open question for the serving code's owner: used only by a test / not read anywhere yet.
API_KEY_HEADER  # serving.settings

# Feast: the offline store named by its import path in the RepoConfig (serving/no_offline_store);
# Feast looks the classes and the OfflineStore interface's methods up by name.
NoOfflineStoreConfig
NoOfflineStore
pull_latest_from_table_or_query
pull_all_from_table_or_query
offline_write_batch
write_logged_features
