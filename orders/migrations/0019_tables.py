import django.core.validators
import django.db.models.deletion
import django.db.models.functions.text
import re
from django.db import migrations, models


# The label rule as it stands in this migration (orders.floor.models may change later).
LABEL_PATTERN = re.compile(r"^[^\W_](?:[\w .#/-]*[^\W_])?\Z")


def tables_from_history(apps, schema_editor):
    """Makes a table of each label waiters gave dine-in orders, and links the orders that name it.

    Waiters' labels only: guests could type any text as their table before,
    and a typo must not become a table a QR code is printed for. Guests'
    orders with a waiter's label are linked too; every order keeps its text.
    The spelling used most often wins when labels differ only in case.
    """
    Order = apps.get_model("orders", "Order")
    Table = apps.get_model("orders", "Table")
    counts = {}
    waiters_labels = (
        Order.objects.filter(order_type="dine_in", placed_by__isnull=False)
        .values_list("table_number", flat=True)
        .iterator()
    )
    for label in waiters_labels:
        label = label.strip()
        if len(label) <= 10 and LABEL_PATTERN.match(label):
            counts[label] = counts.get(label, 0) + 1
    chosen = {}
    for label, count in sorted(counts.items(), key=lambda pair: (-pair[1], pair[0])):
        chosen.setdefault(label.lower(), label)
    for position, label in enumerate(sorted(chosen.values(), key=lambda text: (len(text), text))):
        table = Table.objects.create(label=label, sort_order=position)
        Order.objects.filter(order_type="dine_in", table__isnull=True, table_number__iexact=label).update(
            table=table
        )


class Migration(migrations.Migration):

    dependencies = [
        ('orders', '0018_idempotency_records'),
    ]

    operations = [
        migrations.CreateModel(
            name='Table',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('label', models.CharField(help_text='What waiters type and the QR sheet prints: “12”, “T4”, “Bar 2”. Unique among tables in service; case does not matter.', max_length=10, validators=[django.core.validators.RegexValidator(re.compile('^[^\\W_](?:[\\w .#/-]*[^\\W_])?\\Z'), "A table's label is letters and digits, with spaces, dots, dashes, slashes or # between them, up to 10 characters.")])),
                ('area', models.CharField(blank=True, help_text='The floor or room (“Ground floor”, “Terrace”): one QR sheet per area.', max_length=40)),
                ('seats', models.PositiveSmallIntegerField(default=4, validators=[django.core.validators.MinValueValidator(1)])),
                ('sort_order', models.PositiveIntegerField(default=0, help_text='Lower first within its area.')),
                ('retired_at', models.DateTimeField(blank=True, editable=False, null=True)),
                ('link_version', models.PositiveIntegerField(default=1, editable=False)),
                ('created_at', models.DateTimeField(auto_now_add=True)),
                ('updated_at', models.DateTimeField(auto_now=True)),
            ],
            options={
                'ordering': ('area', 'sort_order', 'label', 'pk'),
                'constraints': [models.UniqueConstraint(django.db.models.functions.text.Lower('label'), condition=models.Q(('retired_at__isnull', True)), name='table_label_unique_in_service', violation_error_message='Another table in service already has this label.'), models.CheckConstraint(condition=models.Q(('seats__gte', 1)), name='table_seats_positive')],
            },
        ),
        migrations.AddField(
            model_name='order',
            name='table',
            field=models.ForeignKey(blank=True, editable=False, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='orders', to='orders.table'),
        ),
        migrations.RunPython(tables_from_history, migrations.RunPython.noop),
    ]
