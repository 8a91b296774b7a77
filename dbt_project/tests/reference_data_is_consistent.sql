-- The seeds are reference data shipped with the product, checked as one test (one dbt
-- node; each costs dbt time: docs/performance.md): every key is present and unique, and every
-- synonym maps to a canonical aberration. A failing row names the seed, the column,
-- the value and the rule it breaks.
{%- set keys = [
    ('canonical_aberrations', 'aberration'),
    ('canonical_aberrations', 'column_name'),
    ('aberration_synonyms', 'spelling'),
    ('gene_aliases', 'alias'),
] %}
{%- for seed, column in keys %}

select
    '{{ seed }}' as seed,
    '{{ column }}' as column_name,
    cast({{ column }} as varchar) as value,
    count(*) as n_rows,
    'key missing or repeated' as failed_rule
from {{ ref(seed) }}
group by {{ column }}
having {{ column }} is null or count(*) > 1

union all
{%- endfor %}

select
    'aberration_synonyms' as seed,
    'aberration' as column_name,
    synonyms.aberration as value,
    count(*) as n_rows,
    'not a canonical aberration' as failed_rule
from {{ ref('aberration_synonyms') }} as synonyms
left join {{ ref('canonical_aberrations') }} as canonical
    on synonyms.aberration = canonical.aberration
where canonical.aberration is null
group by synonyms.aberration
