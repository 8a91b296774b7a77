-- Every row of a patient id delivered more than once (all copies are listed; the
-- patient is excluded in marts.cohort_patients because the right row is unknown).

with

patients as (
    select * from {{ ref('stg_raw__patients') }}
),

counted as (
    select
        *,
        count(*) over (partition by patient_id) as n_rows
    from patients
    where patient_id is not null
),

final as (
    select
        {{ finding_columns(
            'duplicate_patient', 'patients', "'patient_id'", 'patient_id',
            "'patient_id appears on ' || n_rows || ' rows'"
        ) }}
    from counted
    where n_rows > 1
)

select * from final
