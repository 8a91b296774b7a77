with

source as (
    {{ current_batch_rows('cytogenetics') }}
),

synonyms as (
    select * from {{ ref('aberration_synonyms') }}
),

renamed as (
    select
        {{ clean_text('patient_id') }} as patient_id,
        {{ clean_text('aberration') }} as aberration_reported,
        lower(regexp_replace(aberration, '\s+', '', 'g')) as aberration_spelling,
        lower({{ clean_text('status') }}) as status,
        {{ clean_text('method') }} as method,
        {{ finite_number('clone_fraction') }} as clone_fraction,
        {{ clean_text('clone_fraction') }} as clone_fraction_text,
        _batch_id as batch_id,
        _source_file as source_file,
        _row_number as source_row_number
    from source
),

mapped as (
    select
        renamed.*,
        synonyms.aberration
    from renamed
    left join synonyms on renamed.aberration_spelling = synonyms.spelling
),

final as (
    select
        patient_id,
        aberration,
        aberration_reported,
        status,
        method,
        clone_fraction,
        clone_fraction_text,
        batch_id,
        source_file,
        source_row_number
    from mapped
)

select * from final
