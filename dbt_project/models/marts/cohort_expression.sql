-- Expression of the cohort's patients only: rows of ids that are not in the patients
-- table are listed in quality.orphan_rows instead.

with

expression as (
    select * from {{ ref('int_expression_values_normalised') }}
),

patients as (
    select patient_id from {{ ref('int_patients_deduplicated') }}
),

final as (
    select
        expression.patient_id,
        expression.gene,
        expression.expression_value,
        expression.expression_scale,
        expression.assay,
        expression.unit,
        expression.n_measurements,
        expression.n_replicates,
        expression.replicate_sd,
        expression.mean_ct,
        expression.reference_gene,
        expression.reference_mean_ct,
        expression.reference_replicate_sd,
        expression.delta_ct,
        expression.qc_flag,
        expression.expression_value is not null as is_analysable
    from expression
    inner join patients on expression.patient_id = patients.patient_id
)

select * from final
