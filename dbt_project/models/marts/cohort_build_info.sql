-- One row: the settings (dbt vars) and the dbt invocation that built the marts, so the
-- analysis can check that the cohort it reads was built with its study's settings.

with

batches as (
    select * from {{ ref('stg_raw__batches') }}
),

current_batch as (
    select
        batch_id,
        is_simulated
    from batches
    where is_current
),

final as (
    select
        batch_id,
        is_simulated,
        '{{ invocation_id }}' as dbt_invocation_id,
        cast(current_timestamp as timestamp) as built_at,
        {{ date_var('data_cutoff_date') }} as data_cutoff_date,
        {{ text_list_var('high_risk_aberrations') }} as high_risk_aberrations,
        {{ reference_gene_var() }} as reference_gene,
        cast({{ var('replicate_sd_threshold') }} as double) as replicate_sd_threshold,
        cast({{ var('ct_min') }} as double) as ct_min,
        cast({{ var('ct_max') }} as double) as ct_max,
        cast({{ var('days_per_year') }} as double) as days_per_year
    from current_batch
)

select * from final
