with

source as (
    {{ current_batch_rows('expression') }}
),

gene_aliases as (
    select * from {{ ref('gene_aliases') }}
),

renamed as (
    select
        {{ clean_text('patient_id') }} as patient_id,
        {{ clean_text('gene') }} as gene_reported,
        upper({{ clean_text('gene') }}) as gene_upper,
        {{ finite_number('value') }} as measured_value,
        {{ clean_text('value') }} as measured_value_text,
        {{ clean_text('assay') }} as assay,
        lower({{ clean_text('unit') }}) as unit,
        try_cast({{ clean_text('replicate') }} as integer) as replicate,
        {{ clean_text('replicate') }} as replicate_text,
        upper({{ clean_text('reference_gene') }}) as reference_gene_upper,
        _batch_id as batch_id,
        _source_file as source_file,
        _row_number as source_row_number
    from source
),

mapped as (
    select
        renamed.*,
        coalesce(gene_alias.gene, renamed.gene_upper) as gene,
        coalesce(reference_alias.gene, renamed.reference_gene_upper) as reference_gene
    from renamed
    left join gene_aliases as gene_alias
        on renamed.gene_upper = gene_alias.alias
    left join gene_aliases as reference_alias
        on renamed.reference_gene_upper = reference_alias.alias
),

final as (
    select
        patient_id,
        gene,
        gene_reported,
        measured_value,
        measured_value_text,
        assay,
        unit,
        replicate,
        replicate_text,
        reference_gene,
        batch_id,
        source_file,
        source_row_number
    from mapped
)

select * from final
