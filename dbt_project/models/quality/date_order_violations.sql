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
    {{- date_order_rules(as='findings', source='checked') }}
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
),

final as (
    select * from findings
)

select * from final
