//! The choices of paywise's own OpenAPI files (`spec/case-management-v1.yaml`,
//! `spec/partner-v1.yaml`), copied value for value: request validation refuses anything else
//! with DRF's `"\"x\" is not a valid choice."`.

/// `CurrencyEnum`.
pub const CURRENCIES: &[&str] = &["EUR", "USD"];

/// `AdditionalChargeTypeEnum` (an empty string is allowed too: `BlankEnum`).
pub const ADDITIONAL_CHARGE_TYPES: &[&str] = &[
    "reminder_fee",
    "bank_charge",
    "processing_fee",
    "cancellation_fee",
    "convenience_fee",
    "advisory_fee",
    "handling_fee",
    "insurance_fee",
    "legal_fee",
    "delivery_charge",
    "service_charge",
    "data_preparation",
    "communication_cost",
    "expenses",
];

/// `ClaimMetaDataTypeEnum`: metadata of claims and additional charges.
pub const CLAIM_METADATA_TYPES: &[&str] = &[
    "comment",
    "invoice:reference",
    "invoice:date",
    "invoice:address_line_1",
    "invoice:address_line_2",
    "invoice:address_city",
    "invoice:address_country",
    "invoice:address_zip",
    "invoice:amount",
    "transaction:reference",
    "transaction:source_ip_address",
    "contract:reference",
    "report:reference",
    "account:reference",
    "claim:holder:address:country",
    "claim:holder:address:city",
    "claim:holder:name",
    "dunning:level",
    "reminder:date",
    "reminder:amount:value",
    "reminder:amount:currency",
    "notification:date",
    "confirmation:email",
    "order:rate",
    "order:deposit",
    "order:cashback",
    "order:prepaid",
    "order:type",
    "rental:pickup:date",
    "rental:pickup:time",
    "rental:pickup:city",
    "rental:dropoff:date",
    "rental:dropoff:time",
    "rental:dropoff:city",
    "rental:gps_tracking",
    "rental:charged_items",
    "payment:method",
    "import:csv:filename",
    "insurance:bonus_malus_system",
    "insurance:contribution_rate",
    "insurance:regional_class_liability_insurance",
    "insurance:regional_class_partial_coverage",
    "payment:frequency",
    "language",
    "tax:id",
    "notification_delivery:date",
    "merchant:address_line1",
    "merchant:address_city",
    "merchant:address_zip",
    "merchant:address_country",
    "merchant:company_name",
    "merchant:company_type",
    "merchant:representative_firstname",
    "merchant:representative_secondname",
    "merchant:website_url",
    "chargeback:reason",
    "shop:website_url",
    "subscription:overdue_period",
    "subscription:duration",
    "subscription:start",
    "subscription:delivery:address",
    "subscription:reference",
    "subscription:renewal",
    "subscription:last_login",
    "subscription:photo_available",
    "subscription:type",
    "subscription:termination",
    "medical:patient",
    "debtor:file_id",
    "email:seller",
    "name:seller",
    "addressline:seller",
    "zip:seller",
    "city:seller",
    "name:ditsributor",
    "email:distributor",
    "addressline:distributor",
    "zip:distributor",
    "city:distributor",
    "logo:distributor_pdf",
    "logo:distributor_email",
    "account:beneficiary",
    "purchase:price",
    "conditional:purchase_price",
    "direct:payments",
    "VAT",
    "product:type",
];

/// `DebtorMetaDataTypeEnum`.
pub const DEBTOR_METADATA_TYPES: &[&str] = &["user:reference", "user:name", "user:ip", "user:language"];

/// `PaymentMetaDataTypeEnum`: metadata of payments and of a claim's payments.
pub const PAYMENT_METADATA_TYPES: &[&str] = &[
    "comment",
    "invoice:reference",
    "invoice:update_and_capture",
    "transaction:reference",
    "contract:reference",
    "report:reference",
    "contravention:reference",
];

/// `ClaimEventTypeEnum`.
pub const CLAIM_EVENT_TYPES: &[&str] = &["claim", "delivery"];

/// `AdditionalChargeEventTypeEnum`.
pub const ADDITIONAL_CHARGE_EVENT_TYPES: &[&str] = &["invoice", "transaction"];

/// `DebtorEventTypeEnum`.
pub const DEBTOR_EVENT_TYPES: &[&str] = &["registration", "login", "insolvency"];

/// Partner API `TypeEnum` (legal representatives).
pub const LEGAL_REPRESENTATIVE_TYPES: &[&str] = &[
    "gesellschafter",
    "direktor",
    "director",
    "vorstand",
    "inhaber",
    "geschaeftsführer",
    "komplementaer",
    "partner",
    "vorsitzender",
    "sonstiges",
];
