{#- Row-level findings share one shape, so that quality.row_findings can stack them and
    the quality gate can name file, row, patient, column and value for each. -#}
{% macro finding_columns(
    check_name, table_name, column_name, value, detail,
    source_file='source_file', source_row_number='source_row_number',
    patient_id='patient_id'
) -%}
    '{{ check_name }}' as check_name,
    '{{ table_name }}' as table_name,
    {{ source_file }} as source_file,
    {{ source_row_number }} as source_row_number,
    {{ patient_id }} as patient_id,
    {{ column_name }} as column_name,
    cast({{ value }} as varchar) as value,
    {{ detail }} as detail
{%- endmacro %}

{#- One select per typed column: the text was delivered but did not convert. -#}
{% macro cast_failure_rows(relation, table_name, column, expected) -%}
    select
        {{ finding_columns(
            'cast_failure', table_name, "'" ~ column ~ "'", column ~ '_text',
            "'expected " ~ expected ~ "'"
        ) }}
    from {{ relation }}
    where {{ column }}_text is not null and {{ column }} is null
{%- endmacro %}
