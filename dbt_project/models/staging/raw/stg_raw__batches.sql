with

source as (
    select * from {{ source('raw', 'batches') }}
),

final as (
    select
        batch_id,
        loaded_at,
        is_simulated,
        contract_version,
        batch_id = max(batch_id) over () as is_current
    from source
)

select * from final
