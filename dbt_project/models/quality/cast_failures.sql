-- Every delivered value that did not convert to its type (ISO date, finite number,
-- integer), with file, row and patient. Staging keeps NULL for these values; this view
-- makes sure such a NULL is never mistaken for "missing".

with

patients as (
    select * from {{ ref('stg_raw__patients') }}
),

cytogenetics as (
    select * from {{ ref('stg_raw__cytogenetic_results') }}
),

expression as (
    select * from {{ ref('stg_raw__expression_measurements') }}
),

failures as (
    {{ cast_failure_rows('patients', 'patients', 'age_at_diagnosis', 'a finite number') }}
    union all
    {{ cast_failure_rows('patients', 'patients', 'diagnosis_date', 'an ISO date') }}
    union all
    {{ cast_failure_rows('patients', 'patients', 'progression_date', 'an ISO date') }}
    union all
    {{ cast_failure_rows('patients', 'patients', 'death_date', 'an ISO date') }}
    union all
    {{ cast_failure_rows('patients', 'patients', 'last_followup_date', 'an ISO date') }}
    union all
    {{ cast_failure_rows(
        'cytogenetics', 'cytogenetics', 'clone_fraction', 'a finite number'
    ) }}
    union all
    {{ cast_failure_rows('expression', 'expression', 'replicate', 'an integer') }}
    union all
    select
        {{ finding_columns(
            'cast_failure', 'expression', "'value'", 'measured_value_text',
            "'expected a finite number'"
        ) }}
    from expression
    where measured_value_text is not null and measured_value is null
),

final as (
    select * from failures
)

select * from final
