-- Values outside the contract's vocabularies or ranges, and rows missing a value the
-- contract requires. Thresholds that are settings (ct_min, ct_max) are dbt vars.

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

findings as (
    select
        {{ finding_columns(
            'missing_value', 'patients', "'patient_id'", 'patient_id',
            "'patient_id is required'"
        ) }}
    from patients
    where patient_id is null
    union all
    select
        {{ finding_columns(
            'invalid_value', 'patients', "'sex'", 'sex', "'expected M, F or empty'"
        ) }}
    from patients
    where sex not in ('M', 'F')
    union all
    select
        {{ finding_columns(
            'invalid_value', 'patients', "'iss_stage'", 'iss_stage',
            "'expected I, II, III or empty'"
        ) }}
    from patients
    where iss_stage not in ('I', 'II', 'III')
    union all
    select
        {{ finding_columns(
            'missing_value', 'cytogenetics', "'patient_id'", 'patient_id',
            "'patient_id is required'"
        ) }}
    from cytogenetics
    where patient_id is null
    union all
    select
        {{ finding_columns(
            'invalid_value', 'cytogenetics', "'status'", 'status',
            "'expected present, absent or not_evaluable'"
        ) }}
    from cytogenetics
    where status is null or status not in ('present', 'absent', 'not_evaluable')
    union all
    select
        {{ finding_columns(
            'missing_value', 'expression', "'patient_id'", 'patient_id',
            "'patient_id is required'"
        ) }}
    from expression
    where patient_id is null
    union all
    select
        {{ finding_columns(
            'missing_value', 'expression', "'gene'", 'gene', "'gene is required'"
        ) }}
    from expression
    where gene is null
    union all
    select
        {{ finding_columns(
            'missing_value', 'expression', "'value'", 'measured_value_text',
            "'missing measurements are absent rows, not empty values'"
        ) }}
    from expression
    where measured_value_text is null
    union all
    select
        {{ finding_columns(
            'missing_value', 'expression', "'unit'", 'unit', "'unit is required'"
        ) }}
    from expression
    where unit is null
    union all
    select
        {{ finding_columns(
            'implausible_value', 'expression', "'value'", 'measured_value_text',
            "'Ct outside " ~ var('ct_min') ~ "-" ~ var('ct_max') ~ " cycles'"
        ) }}
    from expression
    where
        unit = 'ct'
        and (measured_value < {{ var('ct_min') }} or measured_value > {{ var('ct_max') }})
),

final as (
    select * from findings
)

select * from final
