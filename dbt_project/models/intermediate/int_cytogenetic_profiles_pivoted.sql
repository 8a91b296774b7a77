-- One row per patient with each canonical aberration's status and the cytogenetic
-- risk (docs/cohort-models.md): high if any aberration of the high_risk_aberrations
-- var is present; standard if all of them were evaluated and are absent; unknown
-- otherwise. Several results for one aberration combine as present > absent >
-- not evaluable; conflicting results are listed in quality.conflicting_cytogenetics.
-- depends_on: {{ ref('canonical_aberrations') }}
{{ check_high_risk_aberrations() }}

with

results as (
    select * from {{ ref('stg_raw__cytogenetic_results') }}
    where
        patient_id is not null
        and aberration is not null
        and status in ('present', 'absent', 'not_evaluable')
),

patients as (
    select patient_id from {{ ref('int_patients_deduplicated') }}
),

per_aberration as (
    select
        patient_id,
        aberration,
        case
            when bool_or(status = 'present') then 'present'
            when bool_or(status = 'absent') then 'absent'
            else 'unknown'
        end as aberration_status
    from results
    group by patient_id, aberration
),

high_risk as (
    select unnest({{ text_list_var('high_risk_aberrations') }}) as aberration
),

risk_per_patient as (
    select
        patients.patient_id,
        list_sort(list(high_risk.aberration) filter (
            where per_aberration.aberration_status = 'present'
        )) as present_high_risk,
        list_sort(list(high_risk.aberration) filter (
            where coalesce(per_aberration.aberration_status, 'unknown') = 'unknown'
        )) as unevaluated_high_risk
    from patients
    cross join high_risk
    left join per_aberration
        on
            patients.patient_id = per_aberration.patient_id
            and high_risk.aberration = per_aberration.aberration
    group by patients.patient_id
),

pivoted as (
    select
        patients.patient_id,
        {%- for aberration, column_name in canonical_aberrations() %}
        coalesce(
            max(per_aberration.aberration_status) filter (
                where per_aberration.aberration = '{{ aberration }}'
            ),
            'unknown'
        ) as {{ column_name }},
        {%- endfor %}
        count(per_aberration.aberration) as n_aberrations_evaluated
    from patients
    left join per_aberration on patients.patient_id = per_aberration.patient_id
    group by patients.patient_id
),

final as (
    select
        pivoted.*,
        case
            when coalesce(len(risk.present_high_risk), 0) > 0 then 'high'
            when coalesce(len(risk.unevaluated_high_risk), 0) = 0 then 'standard'
            else 'unknown'
        end as cytogenetic_risk,
        case
            when coalesce(len(risk.present_high_risk), 0) > 0
                then 'high: ' || array_to_string(risk.present_high_risk, ', ') || ' present'
            when coalesce(len(risk.unevaluated_high_risk), 0) = 0
                then
                    'standard: '
                    || array_to_string({{ text_list_var('high_risk_aberrations') }}, ', ')
                    || ' absent'
            else
                'unknown: ' || array_to_string(risk.unevaluated_high_risk, ', ')
                || ' not evaluated'
        end as cytogenetic_risk_rule
    from pivoted
    left join risk_per_patient as risk on pivoted.patient_id = risk.patient_id
)

select * from final
