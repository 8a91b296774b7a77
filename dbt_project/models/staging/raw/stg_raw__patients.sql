with

source as (
    {{ current_batch_rows('patients') }}
),

renamed as (
    select
        {{ clean_text('patient_id') }} as patient_id,
        upper({{ clean_text('sex') }}) as sex,
        {{ finite_number('age_at_diagnosis') }} as age_at_diagnosis,
        {{ iso_date('diagnosis_date') }} as diagnosis_date,
        upper({{ clean_text('iss_stage') }}) as iss_stage,
        {{ clean_text('treatment') }} as treatment,
        {{ iso_date('progression_date') }} as progression_date,
        {{ iso_date('death_date') }} as death_date,
        {{ iso_date('last_followup_date') }} as last_followup_date,
        {{ clean_text('age_at_diagnosis') }} as age_at_diagnosis_text,
        {{ clean_text('diagnosis_date') }} as diagnosis_date_text,
        {{ clean_text('progression_date') }} as progression_date_text,
        {{ clean_text('death_date') }} as death_date_text,
        {{ clean_text('last_followup_date') }} as last_followup_date_text,
        _batch_id as batch_id,
        _source_file as source_file,
        _row_number as source_row_number
    from source
),

final as (
    select * from renamed
)

select * from final
