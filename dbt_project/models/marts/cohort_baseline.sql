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
    union all
    select
        4 as display_order,
        'sex' as characteristic,
        coalesce(sex, 'missing') as category,
        cytogenetic_risk,
        any_value(n_group) as n_group,
        count(*) as n_patients
    from analysable
    where not is_excluded
    group by cytogenetic_risk, coalesce(sex, 'missing')
    union all
    select
        5 as display_order,
        'iss_stage' as characteristic,
        coalesce(iss_stage, 'missing') as category,
        cytogenetic_risk,
        any_value(n_group) as n_group,
        count(*) as n_patients
    from analysable
    where not is_excluded
    group by cytogenetic_risk, coalesce(iss_stage, 'missing')
    union all
    select
        6 as display_order,
        'progression or death (PFS event)' as characteristic,
        'yes' as category,
        cytogenetic_risk,
        any_value(n_group) as n_group,
        count(*) filter (where is_pfs_event) as n_patients
    from analysable
    where not is_excluded
    group by cytogenetic_risk
    union all
    select
        7 as display_order,
        'death (OS event)' as characteristic,
        'yes' as category,
        cytogenetic_risk,
        any_value(n_group) as n_group,
        count(*) filter (where is_os_event) as n_patients
    from analysable
    where not is_excluded
    group by cytogenetic_risk
),

continuous as (
    select
        3 as display_order,
        'age_at_diagnosis (years)' as characteristic,
        cast(null as varchar) as category,
        cytogenetic_risk,
        any_value(n_group) as n_group,
        count(age_at_diagnosis) as n_patients,
        quantile_cont(age_at_diagnosis, 0.5) as median,
        quantile_cont(age_at_diagnosis, 0.25) as lower_quartile,
        quantile_cont(age_at_diagnosis, 0.75) as upper_quartile
    from analysable
    where not is_excluded
    group by cytogenetic_risk
    union all
    select
        8 as display_order,
        'observation time, OS (years)' as characteristic,
        cast(null as varchar) as category,
        cytogenetic_risk,
        any_value(n_group) as n_group,
        count(os_years) as n_patients,
        quantile_cont(os_years, 0.5) as median,
        quantile_cont(os_years, 0.25) as lower_quartile,
        quantile_cont(os_years, 0.75) as upper_quartile
    from analysable
    where not is_excluded
    group by cytogenetic_risk
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
