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

    Left out on purpose, because no model here uses them: grants, persist_docs,
    contracts, indexes, foreign keys and Python models. A relation of the other kind
    (a table where the project now has a view, or the reverse) is dropped first.
-#}

{% materialization view, adapter='duckdb' %}
  {{ return(replace_in_place('view')) }}
{% endmaterialization %}

{% materialization table, adapter='duckdb' %}
  {{ return(replace_in_place('table')) }}
{% endmaterialization %}

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
