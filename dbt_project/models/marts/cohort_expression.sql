-- Expression of the cohort's patients only: rows of ids that are not in the patients
-- table are listed in quality.orphan_rows instead. patient_key and gene_key number the
-- patients and genes (1, 2, ... in id and name order), so that a genome-wide reader can
-- build its patients x genes matrix from integers instead of joining 20 million strings.

with

expression as (
    select * from {{ ref('int_expression_values_normalised') }}
),

patients as (
    select
        patient_id,
        row_number() over (order by patient_id) as patient_key
    from {{ ref('int_patients_deduplicated') }}
),

cohort_rows as (
    select
        expression.*,
        patients.patient_key
    from expression
    inner join patients on expression.patient_id = patients.patient_id
),

genes as (
    select
        gene,
        row_number() over (order by gene) as gene_key
    from cohort_rows
    group by gene
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
        expression.patient_key,
        genes.gene_key,
        expression.expression_value is not null as is_analysable
    from cohort_rows as expression
    inner join genes on expression.gene = genes.gene
)

select * from final
