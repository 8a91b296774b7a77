{#- The rows of one raw table that form its current version: the batch named by
    raw.current_batch_files (see docs/raw-contract.md). Staging models, and only they,
    read raw tables through this macro. -#}
{% macro current_batch_rows(table_name) -%}
    select delivered.*
    from {{ source('raw', table_name) }} as delivered
    inner join {{ source('raw', 'current_batch_files') }} as current_files
        on
            delivered._batch_id = current_files.data_batch_id
            and current_files.table_name = '{{ table_name }}'
{%- endmacro %}
