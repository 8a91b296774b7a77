{#- Schemas are named exactly as configured (staging, marts, quality, ...), without
    dbt's default `main_` prefix, so SQL users query marts.cohort_patients. -#}
{% macro generate_schema_name(custom_schema_name, node) -%}
    {%- if custom_schema_name is none -%}
        {{ target.schema }}
    {%- else -%}
        {{ custom_schema_name | trim }}
    {%- endif -%}
{%- endmacro %}
