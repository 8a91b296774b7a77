with

patients as (
    select * from {{ ref('int_patients_deduplicated') }}
),

endpoints as (
    select * from {{ ref('int_patient_endpoints_derived') }}
),

cytogenetics as (
    select * from {{ ref('int_cytogenetic_profiles_pivoted') }}
),

aberrations as (
    select
        * exclude (patient_id, cytogenetic_risk, cytogenetic_risk_rule),
        patient_id as aberration_patient_id
    from cytogenetics
),

batches as (
    select * from {{ ref('stg_raw__batches') }}
),

joined as (
    select
        patients.patient_id,
        patients.sex,
        patients.age_at_diagnosis,
        patients.iss_stage,
        patients.treatment,
        patients.diagnosis_date,
        patients.progression_date,
        patients.death_date,
        patients.last_followup_date,
        endpoints.data_cutoff_date,
        endpoints.pfs_days,
        round(endpoints.pfs_days / {{ var('days_per_year') }}, 6) as pfs_years,
        endpoints.is_pfs_event,
        endpoints.os_days,
        round(endpoints.os_days / {{ var('days_per_year') }}, 6) as os_years,
        endpoints.is_os_event,
        endpoints.followup_status,
        aberrations.*,
        cytogenetics.cytogenetic_risk,
        cytogenetics.cytogenetic_risk_rule,
        endpoints.is_excluded,
        endpoints.exclusion_reasons,
        patients.batch_id,
        batches.is_simulated,
        patients.source_file,
        patients.source_row_number
    from patients
    inner join endpoints on patients.patient_id = endpoints.patient_id
    inner join cytogenetics on patients.patient_id = cytogenetics.patient_id
    inner join aberrations on patients.patient_id = aberrations.aberration_patient_id
    left join batches on patients.batch_id = batches.batch_id
),

final as (
    select * exclude (aberration_patient_id) from joined
)

select * from final
