# Reference values for analysis/zph.py: R survival's cox.zph score test.
#
# Provenance: R's `survival` package (Therneau), cox.zph() as rewritten in survival 3.0
# (2019): a score test, at the fitted beta, for adding x * g(t) to the Cox model, with
# g the centred time transform (default "km": 1 - the left-continuous Kaplan-Meier
# curve of all subjects) and Efron or Breslow weighting as the fit used.
# Source: github.com/therneau/survival, R/cox.zph.R and src/zph1.c.
#
# Inputs (all in this repository, nothing downloaded):
#   tests/data/textbook/{aml,ovarian,lung}.csv   R survival's data sets, as in R
#   examples/uams_gse24080_mm/*.csv              GEO GSE24080 myeloma cohort (raw contract)
#   tests/data/mgus2/*.csv                        R survival's mgus2 (raw contract)
# Output: tests/reference/r/cox_zph.json. For every case it holds the exact design
# matrix, times and events R used, so the Python test rebuilds nothing; the derivations
# below are also described in each case's "data" field.
#
# Run from the repository root:  Rscript tests/reference/r/cox_zph.R
# Deterministic: no random numbers, no dates of the run in the output.

suppressPackageStartupMessages({
    library(survival)
    library(jsonlite)
})

stopifnot(file.exists("tests/data/textbook/aml.csv"))  # run from the repository root
output_path <- "tests/reference/r/cox_zph.json"

# Tighter than coxph's default eps = 1e-9, so that R's coefficients and ours (analysis/
# coxph.py, relative log-likelihood change 1e-12) agree to far below the test tolerance.
# 1e-11 is the tightest eps that stays above coxph's default toler.chol (eps^0.75 =
# 1.8e-12), which coxph.control requires.
control <- coxph.control(eps = 1e-11, iter.max = 50)

# --- data -------------------------------------------------------------------------------

textbook <- function(name) read.csv(file.path("tests/data/textbook", paste0(name, ".csv")))

aml <- textbook("aml")
ovarian <- textbook("ovarian")
lung <- textbook("lung")
lung_complete <- lung[complete.cases(lung[, c("time", "status", "age", "sex", "ph.ecog")]), ]

# A raw-contract cohort as one row per patient: OS as in dbt's
# int_patient_endpoints_derived (diagnosis -> death; otherwise censored at last follow-up;
# no data cut-off), one marker's value, and a 0/1 aberration ("present" = 1).
cohort <- function(folder, marker, aberration) {
    patients <- read.csv(file.path(folder, "patients.csv"), na.strings = "")
    expression <- read.csv(file.path(folder, "expression.csv"), na.strings = "")
    cytogenetics <- read.csv(file.path(folder, "cytogenetics.csv"), na.strings = "")
    end_date <- ifelse(is.na(patients$death_date), patients$last_followup_date,
                       patients$death_date)
    frame <- data.frame(
        patient_id = patients$patient_id,
        os_days = as.numeric(as.Date(end_date) - as.Date(patients$diagnosis_date)),
        is_os_event = as.numeric(!is.na(patients$death_date))
    )
    values <- expression[expression$gene == marker, c("patient_id", "value")]
    calls <- cytogenetics[cytogenetics$aberration == aberration, c("patient_id", "status")]
    stopifnot(!anyDuplicated(values$patient_id), !anyDuplicated(calls$patient_id))
    frame$marker <- values$value[match(frame$patient_id, values$patient_id)]
    frame$aberration <- as.numeric(calls$status[match(frame$patient_id, calls$patient_id)]
                                   == "present")
    # Q1 vs rest, analysis/groups.py convention: R type 7 quantile of the patients with
    # a value; a value equal to the cut point is in Q1.
    q25 <- unname(quantile(frame$marker, 0.25, type = 7, na.rm = TRUE))
    frame$marker_q1 <- as.numeric(frame$marker <= q25)
    attr(frame, "q25") <- q25
    frame[complete.cases(frame[, c("os_days", "is_os_event", "marker_q1", "aberration")]), ]
}

uams <- cohort("examples/uams_gse24080_mm", "B2M", "abnormal_metaphase_karyotype")
names(uams)[names(uams) == "marker_q1"] <- "b2m_q1"
names(uams)[names(uams) == "aberration"] <- "abnormal_karyotype"
mgus2 <- cohort("tests/data/mgus2", "hgb", "male_sex")
names(mgus2)[names(mgus2) == "marker_q1"] <- "hgb_q1"
names(mgus2)[names(mgus2) == "aberration"] <- "male_sex"

cohort_note <- function(folder, marker, aberration, q1_name, aberration_name, q25) sprintf(
    paste(
        "%s: one row per patient; os_days = death_date (else last_followup_date) minus",
        "diagnosis_date in days, is_os_event = 1 if death_date is present; %s = 1 if the",
        "%s value <= %.17g, its R type 7 25%% quantile over all patients with a value",
        "(quantile(type = 7)); %s = 1 if the '%s' aberration is 'present';",
        "patients missing any of these are dropped."
    ),
    folder, q1_name, marker, q25, aberration_name, aberration
)
uams_note <- cohort_note("examples/uams_gse24080_mm", "B2M", "abnormal_metaphase_karyotype",
                         "b2m_q1", "abnormal_karyotype", attr(uams, "q25"))
mgus2_note <- cohort_note("tests/data/mgus2", "hgb", "male_sex (stand-in covariate)",
                          "hgb_q1", "male_sex", attr(mgus2, "q25"))

# --- cases ------------------------------------------------------------------------------

zph_case <- function(name, data_note, formula, data, ties = "efron", transform = "km") {
    fit <- coxph(formula, data = data, ties = ties, x = TRUE, control = control)
    zph <- cox.zph(fit, transform = transform, terms = TRUE, global = TRUE)
    surv <- fit$y  # Surv object of the rows used (after na.omit)
    table <- zph$table
    n_terms <- nrow(table) - 1L
    list(
        name = name,
        data = data_note,
        formula = paste(deparse(formula), collapse = " "),
        ties = ties,
        transform = transform,
        n = fit$n,
        events = fit$nevent,
        columns = I(colnames(fit$x)),  # I(): stays an array for one column
        x = unname(fit$x),
        time = unname(surv[, "time"]),
        event = unname(as.integer(surv[, "status"])),
        coef = I(unname(fit$coefficients)),
        loglik = fit$loglik[2],
        terms = lapply(seq_len(n_terms), function(i) list(
            term = rownames(table)[i],
            chisq = table[i, "chisq"],
            df = table[i, "df"],
            p = table[i, "p"]
        )),
        global = list(
            chisq = table[n_terms + 1L, "chisq"],
            df = table[n_terms + 1L, "df"],
            p = table[n_terms + 1L, "p"]
        )
    )
}

lung_note <- paste(
    "tests/data/textbook/lung.csv; status 2 = death (Surv's 1/2 coding); sex 1 = male,",
    "2 = female, used as a number"
)
lung_complete_note <- paste(lung_note, "; rows with time, status, age, sex or ph.ecog",
                            "missing are dropped (R's na.omit: 227 of 228 rows)")
cases <- list(
    zph_case("aml_x", paste("tests/data/textbook/aml.csv; x as a factor, reference",
                            "'Maintained', so the column is 1 for 'Nonmaintained'"),
             Surv(time, status) ~ x, aml),
    zph_case("lung_sex", lung_note, Surv(time, status) ~ sex, lung),
    zph_case("lung_sex_identity", lung_note, Surv(time, status) ~ sex, lung,
             transform = "identity"),
    zph_case("lung_sex_rank", lung_note, Surv(time, status) ~ sex, lung, transform = "rank"),
    zph_case("lung_sex_log", lung_note, Surv(time, status) ~ sex, lung, transform = "log"),
    zph_case("ovarian_age_ecog_rx", "tests/data/textbook/ovarian.csv; all numeric as in R",
             Surv(futime, fustat) ~ age + ecog.ps + rx, ovarian),
    zph_case("lung_age_sex_ecog", lung_complete_note,
             Surv(time, status) ~ age + sex + ph.ecog, lung_complete),
    zph_case("lung_age_sex_ecog_breslow", lung_complete_note,
             Surv(time, status) ~ age + sex + ph.ecog, lung_complete, ties = "breslow"),
    zph_case("uams_b2m_q1_karyotype", uams_note,
             Surv(os_days, is_os_event) ~ b2m_q1 + abnormal_karyotype, uams),
    zph_case("uams_b2m_q1_x_karyotype", uams_note,
             Surv(os_days, is_os_event) ~ b2m_q1 * abnormal_karyotype, uams),
    zph_case("uams_b2m_q1_x_karyotype_breslow", uams_note,
             Surv(os_days, is_os_event) ~ b2m_q1 * abnormal_karyotype, uams,
             ties = "breslow"),
    zph_case("mgus2_hgb_q1_male", mgus2_note,
             Surv(os_days, is_os_event) ~ hgb_q1 + male_sex, mgus2)
)

reference <- list(
    source = paste("R survival cox.zph(fit, transform, terms = TRUE, global = TRUE) on",
                   "coxph fits with control = coxph.control(eps = 1e-11, iter.max = 50);",
                   "written by tests/reference/r/cox_zph.R"),
    r_version = R.version.string,
    survival_version = as.character(packageVersion("survival")),
    cases = cases
)
writeLines(toJSON(reference, auto_unbox = TRUE, digits = NA, pretty = FALSE), output_path)
cat("wrote", output_path, "with", length(cases), "cases\n")
