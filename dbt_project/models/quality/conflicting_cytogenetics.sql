-- Patients with both 'present' and 'absent' for the same canonical aberration (for
-- example two probes or two spellings). The aberration counts as present.

with

results as (
    select * from {{ ref('stg_raw__cytogenetic_results') }}
),

conflicts as (
    select
        patient_id,
        aberration
    from results
    where patient_id is not null and aberration is not null
    group by patient_id, aberration
    having bool_or(status = 'present') and bool_or(status = 'absent')
),

final as (
    select
        {{ finding_columns(
            'conflicting_result', 'cytogenetics', "'status'", 'results.status',
            "'present and absent both reported for ' || results.aberration",
            source_file='results.source_file',
            source_row_number='results.source_row_number',
            patient_id='results.patient_id'
        ) }}
    from results
    inner join conflicts
        on
            results.patient_id = conflicts.patient_id
            and results.aberration = conflicts.aberration
)

select * from final
