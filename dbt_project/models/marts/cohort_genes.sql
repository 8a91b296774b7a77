-- One row per gene of marts.cohort_expression with its number (gene_key) and how many
-- of the cohort's patients have an analysable value: the gene dimension a genome-wide
-- scan reads instead of grouping 20 million expression rows by name.

with

expression as (
    select * from {{ ref('cohort_expression') }}
),

final as (
    select
        gene_key,
        gene,
        count(*) as n_rows,
        count(*) filter (where is_analysable) as n_analysable
    from expression
    group by gene_key, gene
)

select * from final
