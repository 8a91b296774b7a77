-- Every row-level finding of every quality view, in one shape: check, table, file,
-- row, patient, column, value, detail. The quality gate reads this view.

with

final as (
    {%- for view in [
        'cast_failures', 'unmapped_aberrations', 'invalid_values', 'duplicate_patients',
        'duplicate_measurements', 'orphan_rows', 'date_order_violations',
        'conflicting_cytogenetics'
    ] %}
    select * from {{ ref(view) }}
    union all
    {%- endfor %}
    select
        check_name,
        table_name,
        source_file,
        source_row_number,
        patient_id,
        column_name,
        value,
        detail
    from {{ ref('expression_qc_flags') }}
)

select * from final
