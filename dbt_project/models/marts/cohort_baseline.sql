-- "Table 1": baseline characteristics of the analysable patients (not excluded), by
-- cytogenetic risk group and for all patients. Continuous rows: n, median and
-- quartiles (linear interpolation, R type 7); categorical rows: n and percent of the
-- group. Descriptive only; survival statistics belong to the analysis layer.

with

patients as (
    select * from {{ ref('cohort_patients') }}
),

grouped as (
    select
        'all' as cytogenetic_risk,
        * exclude (cytogenetic_risk)
    from patients
    union all
    select
        cytogenetic_risk,
        * exclude (cytogenetic_risk)
    from patients
),

analysable as (
    select
        *,
        count(*) filter (where not is_excluded) over (
            partition by cytogenetic_risk
        ) as n_group
    from grouped
),

categorical as (
    select
        1 as display_order,
        'patients' as characteristic,
        'analysable' as category,
        cytogenetic_risk,
        any_value(n_group) as n_group,
        count(*) filter (where not is_excluded) as n_patients
    from analysable
    group by cytogenetic_risk
    union all
    select
        2 as display_order,
        'patients' as characteristic,
        'excluded from analysis' as category,
        cytogenetic_risk,
        any_value(n_group) as n_group,
        count(*) filter (where is_excluded) as n_patients
    from analysable
    group by cytogenetic_risk
    {%- for display_order, column in [(4, 'sex'), (5, 'iss_stage')] %}
    union all
    select
        {{ display_order }} as display_order,
        '{{ column }}' as characteristic,
        coalesce({{ column }}, 'missing') as category,
        cytogenetic_risk,
        any_value(n_group) as n_group,
        count(*) as n_patients
    from analysable
    where not is_excluded
    group by cytogenetic_risk, coalesce({{ column }}, 'missing')
    {%- endfor %}
    {%- for display_order, characteristic, flag in [
        (6, 'progression or death (PFS event)', 'is_pfs_event'),
        (7, 'death (OS event)', 'is_os_event'),
    ] %}
    union all
    select
        {{ display_order }} as display_order,
        '{{ characteristic }}' as characteristic,
        'yes' as category,
        cytogenetic_risk,
        any_value(n_group) as n_group,
        count(*) filter (where {{ flag }}) as n_patients
    from analysable
    where not is_excluded
    group by cytogenetic_risk
    {%- endfor %}
),

continuous as (
    {%- for display_order, characteristic, column in [
        (3, 'age_at_diagnosis (years)', 'age_at_diagnosis'),
        (8, 'observation time, OS (years)', 'os_years'),
    ] %}
    {%- if not loop.first %}
    union all
    {%- endif %}
    select
        {{ display_order }} as display_order,
        '{{ characteristic }}' as characteristic,
        cast(null as varchar) as category,
        cytogenetic_risk,
        any_value(n_group) as n_group,
        count({{ column }}) as n_patients,
        quantile_cont({{ column }}, 0.5) as median,
        quantile_cont({{ column }}, 0.25) as lower_quartile,
        quantile_cont({{ column }}, 0.75) as upper_quartile
    from analysable
    where not is_excluded
    group by cytogenetic_risk
    {%- endfor %}
),

combined as (
    select
        display_order,
        characteristic,
        category,
        cytogenetic_risk,
        n_group,
        n_patients,
        case
            when characteristic != 'patients'
                then round(100.0 * n_patients / nullif(n_group, 0), 1)
        end as percent,
        cast(null as double) as median,
        cast(null as double) as lower_quartile,
        cast(null as double) as upper_quartile
    from categorical
    union all
    select
        display_order,
        characteristic,
        category,
        cytogenetic_risk,
        n_group,
        n_patients,
        cast(null as double) as percent,
        median,
        lower_quartile,
        upper_quartile
    from continuous
),

final as (
    select
        *,
        case
            when median is not null
                then printf('%.1f (%.1f-%.1f)', median, lower_quartile, upper_quartile)
            when percent is not null
                then printf('%d (%.1f%%)', n_patients, percent)
            else cast(n_patients as varchar)
        end as summary
    from combined
)

select * from final
