{#- Named row-level rules of one model in one test (one dbt node, one scan): a row
    fails a rule when its expression is false (NULL does not fail, as in dbt_utils'
    expression_is_true). Each failing row is returned once per broken rule, with the
    rule's name in `failed_rule`, so the stored failures say which rule and which row.

    A rule is {name, expression, where?} or {name, dates_in_order: [columns], where?};
    `where` narrows the rows the rule applies to. -#}
{% test row_rules(model, rules) %}
    {%- for rule in rules %}
    {%- if rule.get('dates_in_order') %}
        {%- set expression = dates_in_order_expression(rule['dates_in_order']) %}
    {%- else %}
        {%- set expression = rule['expression'] %}
    {%- endif %}
    {%- if not loop.first %}

    union all
    {%- endif %}

    select
        '{{ rule["name"] | replace("'", "''") }}' as failed_rule,
        *
    from {{ model }}
    where
        not ({{ expression }})
        {%- if rule.get('where') %} and ({{ rule['where'] }}){% endif %}
    {%- endfor %}
{% endtest %}

{#- Every later-listed date is on or after every earlier one, where both are known (so
    a missing middle date does not hide an inversion). -#}
{% macro dates_in_order_expression(columns) -%}
    true
    {%- for later in columns %}{% set later_index = loop.index0 %}
        {%- for earlier in columns[:later_index] %}
    and coalesce({{ earlier }} <= {{ later }}, true)
        {%- endfor %}
    {%- endfor %}
{%- endmacro %}
