{#- A warehouse created before pseudonymisation existed gets raw.batches.is_pseudonymised
    when its next batch is ingested (pipelines/warehouse.py); until then none of its batches
    was pseudonymised. While parsing (execute = false) no column is looked up. -#}
{%- set batch_columns = adapter.get_columns_in_relation(source('raw', 'batches'))
    | map(attribute='name') | list if execute else [] -%}
{%- set is_pseudonymised = 'coalesce(is_pseudonymised, false)'
    if 'is_pseudonymised' in batch_columns else 'false' -%}

with

source as (
    select * from {{ source('raw', 'batches') }}
),

final as (
    select
        batch_id,
        loaded_at,
        is_simulated,
        {{ is_pseudonymised }} as is_pseudonymised,
        contract_version,
        batch_id = max(batch_id) over () as is_current
    from source
)

select * from final
