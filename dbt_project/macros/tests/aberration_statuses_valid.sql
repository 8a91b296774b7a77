{#- Every canonical-aberration column (one per seed row) holds present, absent or
    unknown. One test for all columns: the set of columns follows the seed. -#}
{% test aberration_statuses_valid(model) %}
    -- depends_on: {{ ref('canonical_aberrations') }}
    select *
    from {{ model }}
    where
        false
        {%- for aberration, column_name in canonical_aberrations() %}
        or coalesce({{ column_name }}, 'null') not in ('present', 'absent', 'unknown')
        {%- endfor %}
{% endtest %}
