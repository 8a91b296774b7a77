{#- The canonical aberrations (seed canonical_aberrations) as a list of
    (aberration, column_name) rows, read when the model runs so that adding a row to
    the seed adds a column. During parsing (execute = false) the list is empty. -#}
{% macro canonical_aberrations() %}
    {%- if not execute -%}
        {{ return([]) }}
    {%- endif -%}
    {%- set rows = run_query(
        "select aberration, column_name from " ~ ref('canonical_aberrations')
        ~ " order by aberration"
    ) -%}
    {{ return(rows.rows) }}
{% endmacro %}

{#- Fail the build when the high-risk list names an aberration the seed does not know:
    a typo would otherwise silently make every patient 'unknown' or 'standard'. -#}
{% macro check_high_risk_aberrations() %}
    {%- if execute -%}
        {%- set known = canonical_aberrations() | map(attribute=0) | list -%}
        {%- for name in var('high_risk_aberrations') -%}
            {%- if name not in known -%}
                {{ exceptions.raise_compiler_error(
                    "var high_risk_aberrations: '" ~ name ~ "' is not a canonical aberration "
                    ~ "(seed canonical_aberrations knows: " ~ known | join(', ') ~ ")"
                ) }}
            {%- endif -%}
        {%- endfor -%}
    {%- endif -%}
{% endmacro %}
