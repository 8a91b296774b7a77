-- Cytogenetic and expression rows whose patient id is not in the patients table.
-- They cannot join a cohort and are kept out of the marts; this view lists them.

with

patients as (
    select distinct patient_id from {{ ref('stg_raw__patients') }}
    where patient_id is not null
),

cytogenetics as (
    select * from {{ ref('stg_raw__cytogenetic_results') }}
),

expression as (
    select * from {{ ref('stg_raw__expression_measurements') }}
),

findings as (
    select
        {{ finding_columns(
            'orphan_row', 'cytogenetics', "'patient_id'", 'cytogenetics.patient_id',
            "'patient_id not in patients'", source_file='cytogenetics.source_file',
            source_row_number='cytogenetics.source_row_number',
            patient_id='cytogenetics.patient_id'
        ) }}
    from cytogenetics
    left join patients on cytogenetics.patient_id = patients.patient_id
    where cytogenetics.patient_id is not null and patients.patient_id is null
    union all
    select
        {{ finding_columns(
            'orphan_row', 'expression', "'patient_id'", 'expression.patient_id',
            "'patient_id not in patients'", source_file='expression.source_file',
            source_row_number='expression.source_row_number',
            patient_id='expression.patient_id'
        ) }}
    from expression
    left join patients on expression.patient_id = patients.patient_id
    where expression.patient_id is not null and patients.patient_id is null
),

final as (
    select * from findings
)

select * from final
