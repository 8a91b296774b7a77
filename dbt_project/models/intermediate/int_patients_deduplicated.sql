-- One row per patient id. A patient id delivered on several rows keeps its first row
-- (by source row) and is flagged: which row is right cannot be known, so the patient
-- is excluded downstream and every row is listed in quality.duplicate_patients.
-- Rows without a patient id cannot be keyed; they are listed in quality.invalid_values.

with

patients as (
    select * from {{ ref('stg_raw__patients') }}
),

numbered as (
    select
        *,
        row_number() over (
            partition by patient_id order by source_row_number
        ) as row_within_patient,
        count(*) over (partition by patient_id) as n_source_rows
    from patients
    where patient_id is not null
),

final as (
    select * exclude (row_within_patient)
    from numbered
    where row_within_patient = 1
)

select * from final
