{#- Typed views of raw text. A value that does not convert becomes NULL here and is
    listed, with its row, in quality.cast_failures (the raw text is kept beside it). -#}

{% macro clean_text(column) -%}
    nullif(trim({{ column }}), '')
{%- endmacro %}

{#- ISO 8601 calendar dates only (YYYY-MM-DD): '3/1/2010' or '31.02.2015' is not
    guessed at, because day/month order cannot be known. -#}
{% macro iso_date(column) -%}
    case
        when regexp_full_match(trim({{ column }}), '[0-9]{4}-[0-9]{2}-[0-9]{2}')
            then cast(try_strptime(trim({{ column }}), '%Y-%m-%d') as date)
    end
{%- endmacro %}

{#- Finite numbers only: 'n.d.', 'NA', 'inf' and 'nan' are cast failures. -#}
{% macro finite_number(column) -%}
    case
        when isfinite(try_cast(trim({{ column }}) as double))
            then try_cast(trim({{ column }}) as double)
    end
{%- endmacro %}

{#- A dbt var holding an ISO date or null, as a SQL date literal. -#}
{% macro date_var(name) -%}
    {%- set value = var(name) -%}
    {%- if value is none -%}
        cast(null as date)
    {%- else -%}
        cast('{{ value }}' as date)
    {%- endif -%}
{%- endmacro %}

{#- A list var as a SQL list of string literals. -#}
{% macro text_list_var(name) -%}
    [{%- for item in var(name) -%}'{{ item | replace("'", "''") }}'{{ ", " if not loop.last }}{%- endfor -%}]
{%- endmacro %}

{#- The reference_gene var as an upper-case SQL text literal, or a typed NULL. -#}
{% macro reference_gene_var() -%}
    {%- if var('reference_gene') -%}
        upper('{{ var("reference_gene") | replace("'", "''") }}')
    {%- else -%}
        cast(null as varchar)
    {%- endif -%}
{%- endmacro %}
