{#-
    The project's view, table and test materializations on DuckDB: one
    `create or replace` statement per node, in place.

    dbt's stock ones (and dbt-duckdb's table) are written for warehouses without
    transactional DDL: they create `<name>__dbt_tmp`, rename the old relation to
    `<name>__dbt_backup`, rename the new one into place and drop the backup, and a test
    that stores its failures drops the old table first. That is 4-6 statements and
    several macro calls per node: about a quarter of dbt's time in the demo build
    (docs/performance.md). DuckDB replaces a view or table atomically inside its
    transaction, so readers see the old or the new relation, never none.

    What the stock ones do and these do not is refused, never ignored: a model that
    sets one of those configs fails the build naming the model and the config
    (`refuse_unsupported_model_configs`). A relation of the other kind (a table where
    the project now has a view, or the reverse) is dropped first.

    tests/integration/test_materializations.py holds hashes of the stock sources these
    replace or copy: a dbt-adapters or dbt-duckdb upgrade that changes them fails there,
    with what to re-check.
-#}

{#- Python is declared so that a Python model reaches the guard and its message, rather
    than dbt's "only supports languages ['sql']" about an anonymous materialization. -#}
{% materialization view, adapter='duckdb', supported_languages=['sql', 'python'] %}
  {% do refuse_unsupported_model_configs('view') %}
  {{ return(replace_in_place('view')) }}
{% endmaterialization %}

{% materialization table, adapter='duckdb', supported_languages=['sql', 'python'] %}
  {% do refuse_unsupported_model_configs('table') %}
  {{ return(replace_in_place('table')) }}
{% endmaterialization %}

{#- Fail the model when it asks for something the stock materialization would do and
    `replace_in_place` would silently skip. The list is what dbt-adapters' view and
    table and dbt-duckdb's table (and the create_*_as macros they call) act on:
    - a Python model (dbt-duckdb's table runs Python; this one renders SQL only);
    - contract enforced (column types checked, constraints created);
    - grants (dbt-duckdb warns that DuckDB has none) and persist_docs (comments);
    - sql_header (run before the create);
    - table only: indexes, and dbt-duckdb's partitioned_by/partition_by and
      sorted_by/sort_by (DuckLake). -#}
{% macro refuse_unsupported_model_configs(relation_type) %}
  {%- set unsupported = [] -%}
  {%- if model['language'] != 'sql' -%}
    {%- do unsupported.append('language ' ~ model['language']) -%}
  {%- endif -%}
  {%- set contract = config.get('contract') -%}
  {%- if contract and contract.enforced -%}
    {%- do unsupported.append('contract enforced') -%}
  {%- endif -%}
  {%- set persist_docs = config.get('persist_docs') or {} -%}
  {%- if persist_docs.get('relation') or persist_docs.get('columns') -%}
    {%- do unsupported.append('persist_docs') -%}
  {%- endif -%}
  {%- set keys = ['grants', 'sql_header'] -%}
  {%- if relation_type == 'table' -%}
    {%- set keys = keys + ['indexes', 'partitioned_by', 'partition_by', 'sorted_by', 'sort_by'] -%}
  {%- endif -%}
  {%- for key in keys if config.get(key) -%}
    {%- do unsupported.append(key) -%}
  {%- endfor -%}
  {%- if unsupported -%}
    {{ exceptions.raise_compiler_error(
        "model '" ~ model['name'] ~ "' (" ~ model['original_file_path'] ~ ") uses "
        ~ unsupported | join(', ') ~ ", which the project's " ~ relation_type ~ " materialization"
        " (dbt_project/macros/materializations/replace_in_place.sql) does not support:"
        " it builds a SQL model with one `create or replace` and nothing else."
        " Remove the config, or extend that materialization and its tests"
        " (docs/cohort-models.md, Materializations).") }}
  {%- endif -%}
{% endmacro %}

{#- The body of both: `this` becomes a relation_type built from the model's SQL. -#}
{% macro replace_in_place(relation_type) %}
  {%- set existing_relation = load_cached_relation(this) -%}
  {%- set target_relation = this.incorporate(type=relation_type) -%}
  {{ run_hooks(pre_hooks, inside_transaction=False) }}
  {{ run_hooks(pre_hooks, inside_transaction=True) }}
  {% if existing_relation is not none and existing_relation.type != relation_type %}
    {{ adapter.drop_relation(existing_relation) }}
  {% endif %}
  {% call statement('main') -%}
    create or replace {{ relation_type }} {{ target_relation }} as (
{{ sql }}
    )
  {%- endcall %}
  {{ run_hooks(post_hooks, inside_transaction=True) }}
  {{ adapter.commit() }}
  {{ run_hooks(post_hooks, inside_transaction=False) }}
  {{ return({'relations': [target_relation]}) }}
{% endmacro %}

{#- dbt's test materialization with the stored failures replaced in one statement; the
    rest (limit, fail_calc, warn_if, error_if, sql_header) is dbt's. -#}
{%- materialization test, adapter='duckdb' -%}
  {% set relations = [] %}
  {% set limit = config.get('limit') %}
  {% set sql_header = config.get('sql_header') if flags.REQUIRE_SQL_HEADER_IN_TEST_CONFIGS else none %}
  {% set sql_with_limit %}
    {{ get_limit_subquery_sql(sql, limit) }}
  {% endset %}
  {% if should_store_failures() %}
    {% set store_failures_as = config.get('store_failures_as') or 'table' %}
    {% if store_failures_as not in ['table', 'view'] %}
      {{ exceptions.raise_compiler_error(
          "'" ~ store_failures_as ~ "' is not a valid value for `store_failures_as`. "
          "Accepted values are: ['ephemeral', 'table', 'view']") }}
    {% endif %}
    {% set target_relation = api.Relation.create(
        identifier=model['alias'], schema=schema, database=database, type=store_failures_as) %}
    {% set old_relation = load_cached_relation(target_relation) %}
    {% if old_relation is not none and old_relation.type != store_failures_as %}
      {% do adapter.drop_relation(old_relation) %}
    {% endif %}
    {% call statement(auto_begin=True) %}
      {% if sql_header %}{{ sql_header }}{% endif %}
      create or replace {{ store_failures_as }} {{ target_relation }} as (
{{ sql_with_limit }}
      )
    {% endcall %}
    {% do relations.append(target_relation) %}
    {% set main_sql %}
      select * from {{ target_relation }}
    {% endset %}
    {{ adapter.commit() }}
  {% else %}
    {% set main_sql = sql_with_limit %}
  {% endif %}
  {% call statement('main', fetch_result=True) -%}
    {% if sql_header %}{{ sql_header }}{% endif %}
    {{ get_test_sql(main_sql, config.get('fail_calc'), config.get('warn_if'), config.get('error_if'), limit=none) }}
  {%- endcall %}
  {{ return({'relations': relations}) }}
{%- endmaterialization -%}
