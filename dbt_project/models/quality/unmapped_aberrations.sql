-- Aberration spellings that the synonym seed does not know. They are never guessed:
-- add the spelling to seeds/aberration_synonyms.csv (if it is a synonym) or correct
-- the delivery. Until then the aberration counts as not evaluated.

with

cytogenetics as (
    select * from {{ ref('stg_raw__cytogenetic_results') }}
),

final as (
    select
        {{ finding_columns(
            'unmapped_aberration', 'cytogenetics', "'aberration'", 'aberration_reported',
            "'spelling not in seed aberration_synonyms'"
        ) }}
    from cytogenetics
    where aberration_reported is not null and aberration is null
)

select * from final
