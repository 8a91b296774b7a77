{#- Each listed column is a key of the model on its own: never NULL, no value twice.
    One test (one dbt node, one result table) for all of a model's keys: every node
    costs dbt time (docs/performance.md), and a failing row names its column. -#}
{% test keys(model, columns) %}
    {%- for column in columns %}
    {%- if not loop.first %}

    union all
    {%- endif %}

    select
        '{{ column }}' as key_column,
        cast({{ column }} as varchar) as key_value,
        count(*) as n_rows
    from {{ model }}
    group by {{ column }}
    having {{ column }} is null or count(*) > 1
    {%- endfor %}
{% endtest %}
