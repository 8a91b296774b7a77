{#- A row-level rule over several columns: rows where the expression is false fail. -#}
{% test expression_is_true(model, expression, where=none) %}
    select *
    from {{ model }}
    where not ({{ expression }})
        {%- if where %} and ({{ where }}){% endif %}
{% endtest %}
