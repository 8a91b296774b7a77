-- One row per patient x gene: the analysis value, oriented so that higher means more
-- mRNA (REFERENCE_STUDY conventions):
--   unit ct:       mean Ct over replicates; dCt = mean Ct(target) - mean Ct(reference
--                  gene of that patient); value = -dCt (log2 relative expression);
--   unit delta_ct: value = -mean dCt;
--   other units:   value = mean of the delivered values (higher = more).
-- The reference gene is the one named on the rows (reference_gene) or the
-- reference_gene var. Its own Ct rows are the normaliser and do not become a gene row.

with

measurements as (
    select * from {{ ref('stg_raw__expression_measurements') }}
    where patient_id is not null and gene is not null
),

settings as (
    select
        {{ reference_gene_var() }} as reference_gene_default,
        {{ var('replicate_sd_threshold') }} as replicate_sd_threshold
),

with_reference as (
    select
        measurements.*,
        coalesce(measurements.reference_gene, settings.reference_gene_default)
            as reference_gene_used
    from measurements
    cross join settings
),

summarised as (
    -- min <> max instead of count(distinct): same answer, a fraction of the cost on
    -- genome-wide tables
    select
        patient_id,
        gene,
        min(unit) as unit,
        min(assay) as assay,
        min(reference_gene_used) as reference_gene,
        count(*) as n_measurements,
        count(measured_value) as n_replicates,
        avg(measured_value) as mean_value,
        stddev_samp(measured_value) as replicate_sd,
        coalesce(min(unit) != max(unit), false) or count(unit) != count(*)
            as has_conflicting_units,
        coalesce(min(reference_gene_used) != max(reference_gene_used), false)
            as has_conflicting_reference_genes
    from with_reference
    group by patient_id, gene
),

reference_values as (
    select
        patient_id,
        gene as reference_gene,
        mean_value as reference_mean_ct,
        replicate_sd as reference_replicate_sd,
        n_replicates as reference_n_replicates
    from summarised
    where unit = 'ct'
),

reference_genes as (
    select distinct
        patient_id,
        reference_gene_used as reference_gene
    from with_reference
    where unit = 'ct' and reference_gene_used is not null
),

targets as (
    select summarised.*
    from summarised
    left join reference_genes
        on
            summarised.patient_id = reference_genes.patient_id
            and summarised.gene = reference_genes.reference_gene
            and summarised.unit = 'ct'
    where reference_genes.patient_id is null
),

normalised as (
    select
        targets.*,
        reference_values.reference_mean_ct,
        reference_values.reference_replicate_sd,
        reference_values.reference_n_replicates,
        case
            when targets.unit = 'ct'
                then targets.mean_value - reference_values.reference_mean_ct
            when targets.unit = 'delta_ct' then targets.mean_value
        end as delta_ct,
        case when targets.unit = 'ct' then targets.mean_value end as mean_ct
    from targets
    left join reference_values
        on
            targets.patient_id = reference_values.patient_id
            and targets.reference_gene = reference_values.reference_gene
            and targets.unit = 'ct'
),

final as (
    select
        normalised.patient_id,
        normalised.gene,
        normalised.assay,
        normalised.unit,
        normalised.n_measurements,
        normalised.n_replicates,
        normalised.replicate_sd,
        normalised.mean_ct,
        normalised.reference_mean_ct,
        normalised.reference_replicate_sd,
        normalised.delta_ct,
        case
            when normalised.has_conflicting_units or normalised.has_conflicting_reference_genes
                then null
            when normalised.unit in ('ct', 'delta_ct') then -normalised.delta_ct
            else normalised.mean_value
        end as expression_value,
        case
            when normalised.unit in ('ct', 'delta_ct') then 'log2 relative expression (-dCt)'
            else normalised.unit
        end as expression_scale,
        case when normalised.unit = 'ct' then normalised.reference_gene end
            as reference_gene,
        case
            when normalised.has_conflicting_units then 'conflicting units'
            when normalised.has_conflicting_reference_genes then 'conflicting reference genes'
            when normalised.n_replicates = 0 then 'no valid value'
            when normalised.unit = 'ct' and normalised.reference_gene is null
                then 'no reference gene named'
            when normalised.unit = 'ct' and normalised.reference_mean_ct is null
                then 'missing reference gene'
            when
                normalised.replicate_sd > settings.replicate_sd_threshold
                or normalised.reference_replicate_sd > settings.replicate_sd_threshold
                then 'high replicate SD'
            else 'ok'
        end as qc_flag
    from normalised
    cross join settings
)

select * from final
