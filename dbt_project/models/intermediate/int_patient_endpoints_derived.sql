-- PFS and OS per patient, IMWG conventions (docs/cohort-models.md):
--   PFS = diagnosis -> first of progression or death; OS = diagnosis -> death.
--   Without the event: censored at last follow-up, or at the data cut-off if earlier;
--   events after the cut-off are ignored. Patients whose dates make an endpoint
--   underivable are excluded with every reason listed, never dropped.

with

patients as (
    select * from {{ ref('int_patients_deduplicated') }}
),

settings as (
    select
        {{ date_var('data_cutoff_date') }} as data_cutoff_date,
        coalesce({{ date_var('as_of_date') }}, current_date) as as_of_date
),

dated as (
    select
        patients.*,
        settings.data_cutoff_date,
        settings.as_of_date,
        least(patients.progression_date, patients.death_date) as first_event_date,
        greatest(
            patients.diagnosis_date,
            patients.progression_date,
            patients.death_date,
            patients.last_followup_date
        ) as latest_date
    from patients
    cross join settings
),

reasoned as (
    select
        *,
        concat_ws(
            '; ',
            case when n_source_rows > 1 then 'duplicate patient_id rows' end,
            case
                when diagnosis_date_text is null then 'diagnosis date missing'
                when diagnosis_date is null then 'diagnosis date not an ISO date'
            end,
            case
                when last_followup_date_text is null and death_date is null
                    then 'no follow-up date'
                when last_followup_date_text is not null and last_followup_date is null
                    then 'last follow-up date not an ISO date'
            end,
            case
                when progression_date_text is not null and progression_date is null
                    then 'progression date not an ISO date'
            end,
            case
                when death_date_text is not null and death_date is null
                    then 'death date not an ISO date'
            end,
            {{- date_order_rules(as='exclusion_reasons') }}
            case when latest_date > as_of_date then 'date in the future' end
        ) as exclusion_reasons
    from dated
),

endpoints as (
    select
        *,
        exclusion_reasons != '' as is_excluded,
        coalesce(
            first_event_date <= coalesce(data_cutoff_date, first_event_date), false
        ) as is_pfs_event_raw,
        coalesce(death_date <= coalesce(data_cutoff_date, death_date), false)
            as is_os_event_raw,
        least(coalesce(last_followup_date, death_date), data_cutoff_date) as censor_date
    from reasoned
),

final as (
    select
        patient_id,
        data_cutoff_date,
        is_excluded,
        nullif(exclusion_reasons, '') as exclusion_reasons,
        case when not is_excluded then is_pfs_event_raw end as is_pfs_event,
        case
            when is_excluded then null
            when is_pfs_event_raw then date_diff('day', diagnosis_date, first_event_date)
            else date_diff('day', diagnosis_date, censor_date)
        end as pfs_days,
        case when not is_excluded then is_os_event_raw end as is_os_event,
        case
            when is_excluded then null
            when is_os_event_raw then date_diff('day', diagnosis_date, death_date)
            else date_diff('day', diagnosis_date, censor_date)
        end as os_days,
        case
            when is_excluded then null
            when is_os_event_raw then 'died'
            when data_cutoff_date is not null and censor_date = data_cutoff_date
                then 'censored_at_cutoff'
            else 'censored_at_last_followup'
        end as followup_status
    from endpoints
)

select * from final
