-- Dates that contradict each other or the calendar, per delivered patient row:
-- events or follow-up before diagnosis, progression after death, follow-up ending
-- before death, dates after the as-of date (future), diagnosis after the data cut-off.

with

patients as (
    select * from {{ ref('stg_raw__patients') }}
),

settings as (
    select
        {{ date_var('data_cutoff_date') }} as data_cutoff_date,
        coalesce({{ date_var('as_of_date') }}, current_date) as as_of_date
),

checked as (
    select
        patients.*,
        settings.data_cutoff_date,
        settings.as_of_date
    from patients
    cross join settings
),

findings as (
    select
        {{ finding_columns(
            'date_order', 'patients', "'progression_date'", 'progression_date',
            "'progression before diagnosis (' || diagnosis_date || ')'"
        ) }}
    from checked
    where progression_date < diagnosis_date
    union all
    select
        {{ finding_columns(
            'date_order', 'patients', "'death_date'", 'death_date',
            "'death before diagnosis (' || diagnosis_date || ')'"
        ) }}
    from checked
    where death_date < diagnosis_date
    union all
    select
        {{ finding_columns(
            'date_order', 'patients', "'last_followup_date'", 'last_followup_date',
            "'follow-up before diagnosis (' || diagnosis_date || ')'"
        ) }}
    from checked
    where last_followup_date < diagnosis_date
    union all
    select
        {{ finding_columns(
            'date_order', 'patients', "'progression_date'", 'progression_date',
            "'progression after death (' || death_date || ')'"
        ) }}
    from checked
    where progression_date > death_date
    union all
    select
        {{ finding_columns(
            'date_order', 'patients', "'last_followup_date'", 'last_followup_date',
            "'last follow-up before death (' || death_date || ')'"
        ) }}
    from checked
    where last_followup_date < death_date
    union all
    select
        {{ finding_columns(
            'future_date', 'patients', 'dates.column_name', 'dates.date_value',
            "'after the as-of date ' || checked.as_of_date",
            source_file='checked.source_file',
            source_row_number='checked.source_row_number',
            patient_id='checked.patient_id'
        ) }}
    from checked
    cross join (
        select
            unnest([
                'diagnosis_date', 'progression_date', 'death_date', 'last_followup_date'
            ]) as column_name,
            unnest([
                checked.diagnosis_date,
                checked.progression_date,
                checked.death_date,
                checked.last_followup_date
            ]) as date_value
    ) as dates
    where dates.date_value > checked.as_of_date
    union all
    select
        {{ finding_columns(
            'date_order', 'patients', "'diagnosis_date'", 'diagnosis_date',
            "'diagnosis after the data cut-off (' || data_cutoff_date || ')'"
        ) }}
    from checked
    where diagnosis_date > data_cutoff_date
),

final as (
    select * from findings
)

select * from final
