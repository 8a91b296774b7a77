-- Patient x gene values that carry a QC flag (missing reference gene, replicate SD
-- above the threshold, no valid value, conflicting units or reference genes), from
-- the normalisation step, for the cohort's patients (orphan rows are listed in
-- orphan_rows). One row per flagged value; source_row_number is the first delivered
-- row of that patient and gene; value is the replicate SD for SD flags, else the
-- reference gene.

with

normalised as (
    select * from {{ ref('int_expression_values_normalised') }}
),

expression as (
    select * from {{ ref('stg_raw__expression_measurements') }}
),

patients as (
    select patient_id from {{ ref('int_patients_deduplicated') }}
),

first_rows as (
    select
        patient_id,
        gene,
        min(source_row_number) as source_row_number,
        min(source_file) as source_file
    from expression
    group by patient_id, gene
),

final as (
    select
        {{ finding_columns(
            'expression_qc', 'expression', "'value'",
            "case when normalised.qc_flag = 'high replicate SD' then "
            ~ "cast(round(greatest(normalised.replicate_sd, "
            ~ "normalised.reference_replicate_sd), 3) as varchar) "
            ~ "else normalised.reference_gene end",
            "normalised.qc_flag || ' (' || normalised.gene || ')'",
            source_file='first_rows.source_file',
            source_row_number='first_rows.source_row_number',
            patient_id='normalised.patient_id'
        ) }},
        normalised.gene,
        normalised.qc_flag
    from normalised
    inner join patients on normalised.patient_id = patients.patient_id
    inner join first_rows
        on
            normalised.patient_id = first_rows.patient_id
            and normalised.gene = first_rows.gene
    where normalised.qc_flag != 'ok'
)

select * from final
