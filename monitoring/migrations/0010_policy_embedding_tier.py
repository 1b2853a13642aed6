from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('monitoring', '0009_driftsignal_p_adjusted_index'),
    ]

    operations = [
        migrations.AddField(
            model_name='monitoringpolicy',
            name='embedding_tier',
            field=models.CharField(choices=[('default', 'Default model (transformer)'), ('static', 'Static model (model2vec, distilled here)')], default='default', help_text='Embedding model of the next baseline; a frozen baseline keeps the model it was built with.', max_length=20),
        ),
    ]
