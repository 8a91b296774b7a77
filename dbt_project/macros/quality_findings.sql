{#- Row-level findings share one shape, so that quality.row_findings can stack them and
    the quality gate can name file, row, patient, column and value for each. -#}
{% macro finding_columns(
    check_name, table_name, column_name, value, detail,
    source_file='source_file', source_row_number='source_row_number',
    patient_id='patient_id'
) -%}
    '{{ check_name }}' as check_name,
    '{{ table_name }}' as table_name,
    {{ source_file }} as source_file,
    {{ source_row_number }} as source_row_number,
    {{ patient_id }} as patient_id,
    {{ column_name }} as column_name,
    cast({{ value }} as varchar) as value,
    {{ detail }} as detail
{%- endmacro %}

{#- One select per typed column: the text was delivered but did not convert. -#}
{% macro cast_failure_rows(relation, table_name, column, expected) -%}
    select
        {{ finding_columns(
            'cast_failure', table_name, "'" ~ column ~ "'", column ~ '_text',
            "'expected " ~ expected ~ "'"
        ) }}
    from {{ relation }}
    where {{ column }}_text is not null and {{ column }} is null
{%- endmacro %}

{#- The rules on a patient's dates, written once for the two places that apply them:
    int_patient_endpoints_derived (a broken rule that `excludes` makes the patient
    unanalysable, with the reason) and quality.date_order_violations (every broken rule
    is a finding at its row, column and value).

    `as` = 'exclusion_reasons': one `case ... end,` per excluding rule, for concat_ws.
    `as` = 'findings': one `select ... union all` per rule, over the relation `source`.
    Both need the columns of stg_raw__patients plus data_cutoff_date. The macro renders
    SQL rather than returning the list, so that sqlfluff's plain Jinja can lint the
    models that call it. -#}
{% macro date_order_rules(as, source='checked') -%}
    {%- set rules = [
        {'column': 'progression_date', 'condition': 'progression_date < diagnosis_date',
         'compared_to': 'diagnosis_date', 'reason': 'progression before diagnosis',
         'excludes': true},
        {'column': 'death_date', 'condition': 'death_date < diagnosis_date',
         'compared_to': 'diagnosis_date', 'reason': 'death before diagnosis',
         'excludes': true},
        {'column': 'last_followup_date', 'condition': 'last_followup_date < diagnosis_date',
         'compared_to': 'diagnosis_date', 'reason': 'follow-up before diagnosis',
         'excludes': true},
        {'column': 'progression_date', 'condition': 'progression_date > death_date',
         'compared_to': 'death_date', 'reason': 'progression after death',
         'excludes': true},
        {'column': 'last_followup_date', 'condition': 'last_followup_date < death_date',
         'compared_to': 'death_date', 'reason': 'last follow-up before death',
         'excludes': false},
        {'column': 'diagnosis_date', 'condition': 'diagnosis_date > data_cutoff_date',
         'compared_to': 'data_cutoff_date', 'reason': 'diagnosis after the data cut-off',
         'excludes': true},
    ] -%}
    {%- if as == 'exclusion_reasons' -%}
        {%- for rule in rules if rule['excludes'] %}
            case when {{ rule['condition'] }} then '{{ rule['reason'] }}' end,
        {%- endfor %}
    {%- elif as == 'findings' -%}
        {%- for rule in rules %}
    select
        {{ finding_columns(
            'date_order', 'patients', "'" ~ rule['column'] ~ "'", rule['column'],
            "'" ~ rule['reason'] ~ " (' || " ~ rule['compared_to'] ~ " || ')'"
        ) }}
    from {{ source }}
    where {{ rule['condition'] }}
    union all
        {%- endfor %}
    {%- else -%}
        {{ exceptions.raise_compiler_error("date_order_rules: unknown as='" ~ as ~ "'") }}
    {%- endif -%}
{%- endmacro %}
