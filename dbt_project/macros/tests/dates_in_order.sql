{#- Rule spanning columns: every later-listed date is on or after every earlier one,
    where both are known (so a missing middle date does not hide an inversion).
    `where` narrows the rows (e.g. analysable patients only). -#}
{% test dates_in_order(model, columns, where=none) %}
    select *
    from {{ model }}
    where
        (false
        {%- for later in columns %}{% set later_index = loop.index0 %}
            {%- for earlier in columns[:later_index] %}
            or {{ earlier }} > {{ later }}
            {%- endfor %}
        {%- endfor %})
        {%- if where %} and ({{ where }}){% endif %}
{% endtest %}
