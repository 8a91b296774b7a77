-- Expression rows delivered more than once for the same patient, gene, unit and
-- replicate (all copies listed). They would count twice in a mean of replicates.

with

expression as (
    select * from {{ ref('stg_raw__expression_measurements') }}
),

counted as (
    select
        *,
        count(*) over (
            partition by patient_id, gene, unit, replicate_text
        ) as n_rows
    from expression
    where patient_id is not null and gene is not null
),

final as (
    select
        {{ finding_columns(
            'duplicate_measurement', 'expression', "'gene'", 'gene',
            "'same patient, gene, unit and replicate on ' || n_rows || ' rows'"
        ) }}
    from counted
    where n_rows > 1
)

select * from final
